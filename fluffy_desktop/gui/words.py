"""Counted nouns in what the app says: "1 photo", "12 photos", "1,200 photos"."""


def counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"
