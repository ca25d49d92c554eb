#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly




# Alias defined in config.ini

ones = tf.ones
zeros = tf.zeros

