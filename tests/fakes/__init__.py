"""Test doubles for third-party network services, speaking their real wire formats."""
