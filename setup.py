"""What pyproject.toml cannot say: the top-level resources/ ship inside the package.

The checkout keeps icons, word lists and the like in resources/ (the source tree and the
PyInstaller recipe read them there); a wheel carries them as fluffy_desktop/resources/.
"""

from setuptools import find_namespace_packages, find_packages, setup

RESOURCES = "fluffy_desktop.resources"

setup(
    packages=[
        *find_packages(include=["fluffy_desktop*"]),
        RESOURCES,
        *(f"{RESOURCES}.{folder}" for folder in find_namespace_packages(where="resources")),
    ],
    package_dir={RESOURCES: "resources"},
    package_data={"fluffy_desktop": ["py.typed"], RESOURCES: ["**/*"]},
)
