"""The four doithoai services; each imports only `shared`, never another service."""
