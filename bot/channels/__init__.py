"""Channel adapters: each turns its transport into engine events and prompts back."""
