"""HTTP pieces shared by the services' APIs."""
