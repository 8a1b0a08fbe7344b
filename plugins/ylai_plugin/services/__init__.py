"""Domain logic shared by ylai's API routes."""
