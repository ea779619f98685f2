/* One extension function beyond the real library, for the probe that shows
 * an addition passes the ABI check. */
int sc_abi_probe_added(int x);
int sc_abi_probe_added(int x) { return x + 1; }
