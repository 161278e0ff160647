"""Code every doithoai service may import: event contracts, messaging, storage, settings, observability."""
