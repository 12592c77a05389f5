"""What a gate run tells a reviewer: the revisions × checks matrix, and where it is printed."""
