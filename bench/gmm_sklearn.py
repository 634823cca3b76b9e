"""scikit-learn side of bench/gmm.ts: fit a 1-D GaussianMixture to the gaps in a raw float64 file.

Times only GaussianMixture.fit (median of --repeats) and prints one JSON line on stdout.
Run with Debian's /usr/bin/python3 (scikit-learn 1.2.1).
"""

import argparse
import json
import statistics
import time

import numpy as np
import sklearn
from sklearn.mixture import GaussianMixture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="little-endian float64 file, one gap per value")
    parser.add_argument("--n-components", type=int, default=2)
    parser.add_argument("--n-init", type=int, required=True)
    parser.add_argument("--max-iter", type=int, required=True)
    parser.add_argument("--tol", type=float, required=True)
    parser.add_argument("--reg-covar", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    x = np.fromfile(args.data, dtype="<f8").reshape(-1, 1)
    times_ms = []
    model = None
    for _ in range(args.repeats):
        model = GaussianMixture(
            n_components=args.n_components,
            n_init=args.n_init,
            max_iter=args.max_iter,
            tol=args.tol,
            reg_covar=args.reg_covar,
            random_state=args.seed,
        )
        start = time.perf_counter()
        model.fit(x)
        times_ms.append((time.perf_counter() - start) * 1000)

    order = np.argsort(model.means_.ravel())
    print(
        json.dumps(
            {
                "sklearn_version": sklearn.__version__,
                "n": int(x.shape[0]),
                "fit_ms": statistics.median(times_ms),
                "fit_ms_all": times_ms,
                "mean_loglik": float(model.score(x)),
                "n_iter": int(model.n_iter_),
                "converged": bool(model.converged_),
                "means": model.means_.ravel()[order].tolist(),
                "variances": model.covariances_.ravel()[order].tolist(),
                "weights": model.weights_[order].tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
