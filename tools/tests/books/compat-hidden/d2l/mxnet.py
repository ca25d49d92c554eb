#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

import time


def plumbing():
    return time.time() > 0


# Alias defined in config.ini

ones = np.ones
zeros = np.zeros

