"""The weekly digest: what is rising, computed only from anonymized hits, in words and a chart.

Imports storage and the engine (for rule titles and advice); never ``telegram``.
"""
