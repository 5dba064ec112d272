"""Checks of images framed like MNIST digits (tfbnn.data.framing), shared by
the tests of the letters and of the strokes."""
import numpy as np


def check_framed_like_mnist(images, low, high):
    """Each image's ink spans low..high pixels on its longer side (the 20/28
    box, give or take anti-aliasing), and its centre of mass is the image
    centre to the nearest pixel, unless the box had to move in from an edge."""
    height, width = images.shape[1:]
    rows, cols = np.mgrid[:height, :width]
    for image in images:
        r, c = np.nonzero(image > 0.02)
        extent = max(r.max() - r.min() + 1, c.max() - c.min() + 1)
        assert low <= extent <= high, extent
        mass = image.sum()
        centre = ((rows * image).sum() / mass, (cols * image).sum() / mass)
        if r.min() > 0 and c.min() > 0 and r.max() < height - 1 and c.max() < width - 1:
            assert abs(centre[0] - height / 2.0) <= 0.75, centre
            assert abs(centre[1] - width / 2.0) <= 0.75, centre
