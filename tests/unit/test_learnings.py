"""Facts the docs state as reproducible are reproduced here, from the docs' own text."""
import hashlib
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_documented_passwordhash_format_reproduces_the_published_value():
    """docs/learnings/passwords.md: PasswordHash is PBKDF2-HMAC-SHA512 (hashlib computes it,
    no helper container); the published value it quotes is the password SYS."""
    page = (ROOT / "docs" / "learnings" / "passwords.md").read_text(encoding="utf-8")
    section = page.split("#### The PasswordHash format", 1)[1]
    digest, salt, rounds, algo = re.search(
        r"\b([0-9a-f]{128}),([0-9a-f]{128}),(\d+),(SHA\d+)\b", section).groups()
    assert (rounds, algo) == ("10000", "SHA512")
    computed = hashlib.pbkdf2_hmac("sha512", b"SYS", bytes.fromhex(salt), int(rounds), 64)
    assert computed.hex() == digest
