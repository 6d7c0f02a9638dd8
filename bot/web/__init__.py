"""The 工作台: web pages for the city committee and for each society (see app.py)."""
