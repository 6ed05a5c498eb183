"""The health judge: what it sees (health), how it gathers it (observe), its checks by evidence
kind, and its verdict.
"""
