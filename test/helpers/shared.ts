/** The read-only shared folder beside the checkout (FSDD, scikit-learn fixtures): $MMGAP_SHARED, else <repo>/../shared. */
import { fileURLToPath } from 'node:url';

export const sharedDir = process.env.MMGAP_SHARED ?? fileURLToPath(new URL('../../../shared/', import.meta.url));
