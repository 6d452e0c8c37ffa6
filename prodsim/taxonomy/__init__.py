"""The user's own category tree: reading tree files (`tree`), filing products into its leaves (`filing`)."""
