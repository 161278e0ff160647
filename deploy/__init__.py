"""Deployment: the local stack launcher, the production compose file's image and configuration."""
