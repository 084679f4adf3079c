"""The control protocol between the admin API and the workers (ARCHITECTURE.md, Redis)."""
