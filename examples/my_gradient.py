"""A hand-written gradient in document 002's style, ready for `handgrad check`.

    handgrad check examples/my_gradient.py:backward_prop \
        --model relu-softmax-column --sizes 784,10,10

`handgrad check` calls backward_prop(params, X, Y) with params = {"W1", "b1", "W2", "b2"} in the
column layout (W1 is 10 x 784, b1 is 10 x 1), X of shape 784 x m and Y one-hot of shape 10 x m.
Change a line (drop the `1 / m`, or the `* ReLU_deriv(Z1)`) and run the command again to see the
checker name the mistake.
"""

import numpy as np


def ReLU(Z):
    return np.maximum(Z, 0)


def ReLU_deriv(Z):
    return Z > 0


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))  # minus the max: no overflow
    return E / E.sum(axis=0, keepdims=True)


def backward_prop(params, X, Y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    dZ2 = A2 - Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return dW1, db1, dW2, db2
