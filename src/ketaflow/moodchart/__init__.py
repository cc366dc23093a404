"""The daily mood chart on the record: links, entries, the life chart and its warnings.

The rules themselves are the pure core `ketaflow.mood`; this domain stores and shows them.
"""
