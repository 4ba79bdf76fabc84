"""The salon sync: full sync with per-page checkpoints, the lease that keeps one sync per salon, upserts."""
