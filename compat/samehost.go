package compat

// SameHostPath describes, for omx_info, how endpoints of different
// processes of this host talk under cfg (getenv reads
// OMX_SHARED_SINGLE_COPY): shared memory with large messages in one copy
// (process_vm_readv) or in two copies through the ring, or the network
// path when shared communication is disabled.
func SameHostPath(cfg Config, getenv func(string) string) string {
	if cfg.DisableShared {
		if !rawSocketsAllowed() {
			return "shared memory with the remote thresholds (OMX_DISABLE_SHARED, but no raw-socket permission for the network path)"
		}
		return "network path (OMX_DISABLE_SHARED)"
	}
	ok, why := singleCopyStatus(getenv)
	switch {
	case ok && why == "":
		return "shared memory, large messages in one copy (process_vm_readv)"
	case ok:
		return "shared memory, large messages in one copy (process_vm_readv) " + why
	default:
		return "shared memory, large messages in two copies (" + why + ")"
	}
}
