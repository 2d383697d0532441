"""Services: the hub's use cases, called alike by the web, the CLI and jobs."""
