#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

import time


def plumbing():
    return time.time() > 0

def lone():
    """Defined in :numref:`sec_hidden`"""
    return 6


# Alias defined in config.ini

ones = torch.ones
zeros = torch.zeros

