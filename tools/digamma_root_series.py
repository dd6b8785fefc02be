#!/usr/bin/env python3
"""Taylor coefficients of digamma about its positive root x0 = 1.4616321449683623...

runtime/src/special.rs evaluates digamma(x0 + h) = sum_k c_k h^k for |h| <= 0.25, where the
recurrence + asymptotic series would cancel (digamma(x0) = 0): c_k = polygamma(k, x0) / k!
(c_0 = digamma(x0) = 0). x0 is split as X0_HI + X0_LO (doubles) so
h = (x - X0_HI) - X0_LO keeps full relative precision near the root. The series converges for
|h| < x0 (the pole at 0); at |h| = 0.25 the terms fall as 0.171^k, so 24 terms reach 1e-18.

Run: python3 tools/digamma_root_series.py  (prints the Rust constants; mpmath at 200 bits).
"""
import mpmath
from mpmath import mp, mpf

mp.prec = 200
x0 = mpmath.findroot(mpmath.digamma, mpf("1.4616321449683623"))
hi = float(x0)
lo = float(x0 - mpf(hi))
print(f"pub(crate) const X0_HI: f64 = {hi!r};")
print(f"pub(crate) const X0_LO: f64 = {lo!r};")
coeffs = [float(mpmath.polygamma(k, x0) / mpmath.factorial(k)) for k in range(1, 25)]
print("/// c_1 .. c_24 (c_0 = 0).")
print("pub(crate) const ROOT_SERIES: [f64; 24] = [")
for c in coeffs:
    print(f"    {c!r},")
print("];")
