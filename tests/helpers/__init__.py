"""What tests and benches share: servers, fakes' clients, live builders. Never a test module."""
