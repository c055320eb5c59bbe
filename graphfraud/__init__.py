"""graphfraud: find collusion rings behind fake orders and fake reviews (刷单炒信)."""

__version__ = "0.1.0"
