"""Self-consistency subset (r = 4, 8; data processing r = 2; additivity r = 4) with
MMGEstimator(gaussian_prior=True|False). Usage: python benchmarks/selfcheck_prior_subset.py 1
"""
import json, sys, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(1)
from mmgap.estimator import fit_estimate
from mmgap.images import load_digits_images
from mmgap.selfcheck import SelfCheckPlan, run_selfcheck, format_table
images, levels = load_digits_images()
gp = sys.argv[1] == "1"
def est(x, y, seed):
    return fit_estimate(x, y, random_state=seed, gaussian_prior=gp, verbose=False)[1]
res = run_selfcheck(images, levels, est, n_samples=10000, plan=SelfCheckPlan([4, 8], [2], 2, [4]), progress=False)
print(format_table(res))
json.dump(res.to_dict(), open(f"selfcheck_prior_{int(gp)}.json", "w"))
