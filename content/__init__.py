"""Survey content: the YAML loader, the easy-read checker and the audio builder."""
