#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

def f():
    """Defined in :numref:`sec_marks`"""
    return 1

def g():
    """Defined in :numref:`sec_marks`"""
    return 2


# Alias defined in config.ini

ones = tf.ones
zeros = tf.zeros

