"""Reference McNemar exact p-values for test/core/compare.test.ts.

Run: /usr/bin/python3 test/core/compare_reference.py   (Debian python3-scipy 1.10)
Prints one `[b, c, p]` line per pair: p = scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue
(two-sided). Where b + c <= 20000 it first checks that value against the exact rational
min(1, 2 * sum_{k <= min(b, c)} C(b + c, k) / 2^(b + c)) to 1e-12 relative.
"""
from fractions import Fraction

from scipy.stats import binomtest

PAIRS = [
    (0, 0), (0, 5), (3, 3), (10, 2), (40, 25), (500, 430), (100000, 99000),
    (1, 0), (2, 1), (7, 3), (1, 20), (250, 350), (5000, 4800), (20, 1000), (0, 1000),
    (499000, 501000), (490000, 510000), (485000, 515000), (450000, 550000), (3, 2500), (0, 1060),
]


def exact(b, c):
    n, m = b + c, min(b, c)
    if n == 0:
        return 1.0
    total, coef = 0, 1
    for k in range(m + 1):
        total += coef
        coef = coef * (n - k) // (k + 1)
    return float(min(Fraction(1), Fraction(2 * total, 2 ** n)))


for b, c in PAIRS:
    p = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5).pvalue
    if b + c <= 20000:
        e = exact(b, c)
        assert abs(p - e) <= 1e-12 * e or abs(p - e) <= 1e-300, (b, c, p, e)
    print(f"[{b}, {c}, {p!r}],")
