import time
import numpy as np
from brian_ep.spec import load_spec
from brian_ep.splits import prepare_data
t=time.time()
spec = load_spec("network_specs/events/event_mnist_578_500_10.yaml")
(x, y), _, (xt, yt) = prepare_data(spec)
print(time.time()-t, x.shape, xt.shape, x.max(), (x>0).mean(), np.percentile(x[x>0], [50, 90, 99]))
f = x.reshape(len(x), 6, -1)
print("per-bin mean", f.mean(axis=(0,2)))
