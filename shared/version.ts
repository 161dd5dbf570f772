/** Product version sent in Challenge/Login and printed by `burrow --version`. */
export const BURROW_VERSION = '0.1.0';
