"""The web console and the public pages, server-rendered in Indonesian and English."""
