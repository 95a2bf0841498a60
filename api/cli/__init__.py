"""The `warrant` command line: parsing and presentation over `api.services`."""
