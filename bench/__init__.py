"""Benchmarks: figures anyone can reproduce with one command each (see the Makefile)."""
