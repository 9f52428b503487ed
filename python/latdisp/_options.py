"""Python keywords to latdisp's command-line options."""
import os


def option_name(keyword):
    """`memory_budget` -> `--memory-budget`."""
    return "--" + keyword.replace("_", "-")


def _value_text(keyword, value):
    if isinstance(value, bool):
        raise TypeError(f"{keyword}: a boolean inside a list has no command-line form")
    if isinstance(value, float):
        return repr(value)          # the shortest text that reads back as the same double
    if isinstance(value, (str, int, os.PathLike)):
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    raise TypeError(f"{keyword}: {type(value).__name__} {value!r} has no command-line form "
                    "(give a string, a number, a path, True, or a list of those)")


def options_to_args(options):
    """Turns keyword options into command-line words, in the order given.

    ``memory_budget="2GiB"`` -> ``--memory-budget 2GiB``; ``True`` -> the bare flag;
    ``False`` and ``None`` -> nothing; a list or tuple repeats the option once per item
    (for comma lists such as ``dims``, give one string: ``dims="37,8"``); floats are written
    in their shortest exact form (``repr``), so ``epsilon=1e-6`` reaches latdisp unchanged.
    """
    args = []
    for keyword, value in options.items():
        name = option_name(keyword)
        if value is None or value is False:
            continue
        if value is True:
            args.append(name)
        elif isinstance(value, (list, tuple)):
            for item in value:
                args += [name, _value_text(keyword, item)]
        else:
            args += [name, _value_text(keyword, value)]
    return args
