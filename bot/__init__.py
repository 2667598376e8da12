"""Sentinel: recognises known scam flows in forwarded messages and explains what comes next."""

__version__ = "0.1.0"
