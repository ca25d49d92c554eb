#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

def shared():
    return 1

def also_shared():
    return 2


# Alias defined in config.ini

ones = np.ones
zeros = np.zeros

