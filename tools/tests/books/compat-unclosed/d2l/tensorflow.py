#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

def size(x):
    """Defined in :numref:`sec_unclosed`"""
    return len(x)

def only_tensorflow():
    """Defined in :numref:`sec_unclosed`"""
    return 2


# Alias defined in config.ini

ones = tf.ones
zeros = tf.zeros

