"""What the benchmarks share: a box plot of distributions, written as a PNG."""


def save_boxplot(distributions, title, xlabel, path, log_scale=False):
    """distributions: {label: [values]}, drawn top to bottom in reverse order."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 0.45 * len(distributions) + 1.2))
    axes.boxplot(list(distributions.values()), orientation="horizontal",
                 tick_labels=list(distributions), showfliers=False)
    if log_scale:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
