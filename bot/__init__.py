"""The conversation engine and the channel adapters that speak it."""
