"""What ``kubeweft init`` and ``kubeweft create api`` write, as lists of planned files.

A project remembers its package and API domain in ``pyproject.toml`` (``[tool.kubeweft]``)
as a kubebuilder project does in its ``PROJECT`` file, so ``create api`` needs only the
group, version and kind. A kind's API group is ``<group>.<domain>``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path, PurePosixPath

import inflection

from kubeweft.codegen import manifests
from kubeweft.scaffold.files import (
    Mode,
    PlannedFile,
    ScaffoldError,
    insert_at_marker,
    insert_imports,
    render,
    uncomment_at_markers,
)

IMPORTS_MARKER = "+kubeweft:scaffold:imports"
MODELS_MARKER = "+kubeweft:scaffold:models"
WEBHOOK_MARKER = "+kubeweft:scaffold:webhook"
DEFAULT_KUSTOMIZATION = PurePosixPath("config/default/kustomization.yaml")

_PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_VERSION = re.compile(r"v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_PLURAL = re.compile(_DNS_LABEL)


def default_requirement() -> str:
    """The kubeweft a new project depends on: the version running this command."""
    return f"kubeweft=={metadata.version('kubeweft')}"


def _check(what: str, value: str, pattern: re.Pattern[str], example: str) -> None:
    if not pattern.fullmatch(value):
        raise ScaffoldError(f"{what} {value!r} is not valid (for example {example})")


def init_files(name: str, *, domain: str, kubeweft_requirement: str) -> list[PlannedFile]:
    """A new project named ``name`` (its Python package too)."""
    _check("the project name", name, _PACKAGE, '"shop": a Python package name')
    _check("the domain", domain, _DOMAIN, '"example.com"')
    values = {"name": name, "domain": domain, "kubeweft_requirement": kubeweft_requirement}

    def planned(path: str, template: str) -> PlannedFile:
        return PlannedFile(PurePosixPath(path), render(f"init/{template}", **values))

    files = [
        planned("pyproject.toml", "pyproject.toml.tmpl"),
        planned("Makefile", "Makefile.tmpl"),
        planned("hack/system-deps.sh", "system-deps.sh.tmpl"),
        planned("Dockerfile", "Dockerfile.tmpl"),
        planned(".gitignore", "gitignore.tmpl"),
        planned("README.md", "README.md.tmpl"),
        planned(f"src/{name}/__init__.py", "package_init.py.tmpl"),
        planned(f"src/{name}/app.py", "app.py.tmpl"),
        planned(f"src/{name}/migrations/__init__.py", "migrations_init.py.tmpl"),
        planned("tests/conftest.py", "conftest.py.tmpl"),
        planned("tests/test_manifests.py", "test_manifests.py.tmpl"),
        planned("config/default/kustomization.yaml", "default_kustomization.yaml.tmpl"),
        planned("config/manager/kustomization.yaml", "manager_kustomization.yaml.tmpl"),
        planned("config/manager/manager.yaml", "manager.yaml.tmpl"),
    ]
    # What `kubeweft manifests` writes for an App without models yet.
    files += [
        PlannedFile(PurePosixPath("config") / generated.path, generated.text)
        for generated in manifests.generated_files([])
    ]
    return files


def project_settings(root: Path) -> tuple[str, str]:
    """The project's package and domain, from its ``pyproject.toml``."""
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text())
        settings = config["tool"]["kubeweft"]
        return str(settings["package"]), str(settings["domain"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        raise ScaffoldError(
            f"{root} is not a kubeweft project: no [tool.kubeweft] package and domain in "
            "its pyproject.toml (run kubeweft init first)"
        ) from None


def plural_of(kind: str) -> str:
    """The resource name of ``kind``: its lower-case English plural, as kubebuilder
    derives it (``Policy`` → ``policies``, ``Shelf`` → ``shelves``); ``--plural``
    overrides it where English and the API disagree."""
    return inflection.pluralize(kind.lower())


def api_files(
    root: Path, *, group: str, version: str, kind: str, plural: str | None = None
) -> list[PlannedFile]:
    """A new kind in the project at ``root``, and its registration in ``app.py``."""
    package, domain = project_settings(root)
    _check("the group", group, _DOMAIN, '"shop"')
    _check("the version", version, _VERSION, '"v1alpha1"')
    _check("the kind", kind, _KIND, '"Store": UpperCamelCase')
    plural = plural or plural_of(kind)
    _check("the plural", plural, _PLURAL, '"stores": a lower-case DNS label')
    module = kind.lower()
    values = {
        "package": package,
        "api_group": f"{group}.{domain}",
        "version": version,
        "kind": kind,
        "module": module,
        "plural": plural,
    }
    app_path = PurePosixPath(f"src/{package}/app.py")
    try:
        app_source = (root / app_path).read_text()
    except OSError:
        raise ScaffoldError(f"{app_path} is missing; create api registers the kind there") from None
    app_source = insert_imports(
        app_source,
        IMPORTS_MARKER,
        package,
        [
            f"from {package}.api.{version}.{module}_types import {kind}",
            f"from {package}.controllers.{module} import {kind}Reconciler",
        ],
    )
    app_source = insert_at_marker(
        app_source,
        MODELS_MARKER,
        [f"app.add_model({kind})", f"app.add_controller({kind}, {kind}Reconciler)"],
    )

    def planned(path: str, template: str) -> PlannedFile:
        return PlannedFile(PurePosixPath(path), render(f"api/{template}", **values))

    def package_init(path: str, docstring: str) -> PlannedFile:
        return PlannedFile(PurePosixPath(path), f'"""{docstring}"""\n', Mode.KEEP)

    source = f"src/{package}"
    return [
        package_init(f"{source}/api/__init__.py", f"The API types of {package}, by version."),
        package_init(f"{source}/api/{version}/__init__.py", f"The {version} API of {package}."),
        planned(f"{source}/api/{version}/{module}_types.py", "types.py.tmpl"),
        package_init(f"{source}/controllers/__init__.py", "The reconcilers, one per kind."),
        planned(f"{source}/controllers/{module}.py", "controller.py.tmpl"),
        planned(f"config/samples/{group}.{domain}_{version}_{module}.yaml", "sample.yaml.tmpl"),
        planned(f"tests/test_{module}.py", "test.py.tmpl"),
        PlannedFile(app_path, app_source, Mode.REPLACE),
    ]


def webhook_files(
    root: Path, *, version: str, kind: str, defaulting: bool, validation: bool
) -> list[PlannedFile]:
    """Admission rules for an existing kind, and their registration in ``app.py``."""
    package, _ = project_settings(root)
    _check("the version", version, _VERSION, '"v1alpha1"')
    _check("the kind", kind, _KIND, '"Store": UpperCamelCase')
    if not (defaulting or validation):
        raise ScaffoldError("give --defaulting, --validation or both")
    module = kind.lower()
    types = PurePosixPath(f"src/{package}/api/{version}/{module}_types.py")
    if not (root / types).is_file():
        raise ScaffoldError(f"{types} is missing; run kubeweft create api for {kind} first")
    app_path = PurePosixPath(f"src/{package}/app.py")
    try:
        app_source = (root / app_path).read_text()
    except OSError:
        raise ScaffoldError(f"{app_path} is missing; create webhook registers there") from None
    classes = [f"{kind}Defaulter"] * defaulting + [f"{kind}Validator"] * validation
    names = ["AdmissionRequest"] + ["CustomValidator", "Warnings"] * validation
    source = render(
        "webhook/header.py.tmpl",
        kind=kind,
        imports=f"from kubeweft.webhook import {', '.join(sorted(names))}",
    )
    if defaulting:
        source += render("webhook/defaulter.py.tmpl", kind=kind)
    if validation:
        source += render("webhook/validator.py.tmpl", kind=kind)
    app_source = insert_imports(
        app_source,
        IMPORTS_MARKER,
        package,
        [f"from {package}.webhooks.{module} import {', '.join(classes)}"],
    )
    arguments = [f"defaulter={kind}Defaulter()"] * defaulting
    arguments += [f"validator={kind}Validator()"] * validation
    app_source = insert_at_marker(
        app_source, MODELS_MARKER, [f"app.add_webhook({kind}, {', '.join(arguments)})"]
    )
    return [
        PlannedFile(
            PurePosixPath(f"src/{package}/webhooks/__init__.py"),
            f'"""The admission rules of {package}, one module per kind."""\n',
            Mode.KEEP,
        ),
        PlannedFile(PurePosixPath(f"src/{package}/webhooks/{module}.py"), source),
        PlannedFile(app_path, app_source, Mode.REPLACE),
        *webhook_deployment_files(root, package),
    ]


def conversion_files(root: Path, *, version: str, kind: str, hub: str) -> list[PlannedFile]:
    """Make ``hub`` the stored version of ``kind`` and ``version`` a spoke converted to it.

    The hub's types start as a copy of the spoke's (unless they exist); the spoke gets a
    base class with ``convert_to``/``convert_from`` (``<kind>_conversion.py``); ``app.py``
    registers the hub with the spoke (``add_model(Kind, spokes=...)``), and the
    controller, admission rules and tests that imported the spoke import the hub."""
    package, _ = project_settings(root)
    for what, value in (("the version", version), ("the hub version", hub)):
        _check(what, value, _VERSION, '"v1"')
    _check("the kind", kind, _KIND, '"Store": UpperCamelCase')
    if hub == version:
        raise ScaffoldError("--hub names another version than --version")
    module = kind.lower()
    source = f"src/{package}"
    spoke_types = PurePosixPath(f"{source}/api/{version}/{module}_types.py")
    hub_types = PurePosixPath(f"{source}/api/{hub}/{module}_types.py")
    try:
        spoke_source = (root / spoke_types).read_text()
    except OSError:
        raise ScaffoldError(f"{spoke_types} is missing; run kubeweft create api first") from None
    declaration = f"class {kind}(CustomResource):"
    if declaration not in spoke_source:
        raise ScaffoldError(
            f"{spoke_types} has no line {declaration!r}; derive {kind} from "
            f"{kind}Conversion in {module}_conversion.py by hand"
        )
    planned: list[PlannedFile] = []
    if not (root / hub_types).is_file():
        hub_source = spoke_source.replace(f'version="{version}"', f'version="{hub}"')
        planned += [
            PlannedFile(
                PurePosixPath(f"{source}/api/{hub}/__init__.py"),
                f'"""The {hub} API of {package}."""\n',
                Mode.KEEP,
            ),
            PlannedFile(hub_types, hub_source),
        ]
    spoke_source = spoke_source.replace(
        declaration, f"class {kind}({kind}Conversion, CustomResource):"
    )
    spoke_source = insert_after_imports(
        spoke_source, f"from {package}.api.{version}.{module}_conversion import {kind}Conversion"
    )
    old_import = f"from {package}.api.{version}.{module}_types import {kind}"
    new_import = f"from {package}.api.{hub}.{module}_types import {kind}"
    app_path = PurePosixPath(f"{source}/app.py")
    app_source = (root / app_path).read_text() if (root / app_path).is_file() else ""
    registration = f"app.add_model({kind})"
    if old_import not in app_source or registration not in app_source.splitlines():
        raise ScaffoldError(
            f"{app_path} does not register {kind} as create api wrote it ({old_import!r}, "
            f"{registration!r}); write add_model({kind}, spokes=(...,)) by hand"
        )
    spoke_module = f"{version}_{module}"
    app_source = app_source.replace(old_import, new_import).replace(
        registration, f"app.add_model({kind}, spokes=({spoke_module}.{kind},))"
    )
    app_source = insert_imports(
        app_source,
        IMPORTS_MARKER,
        package,
        [f"from {package}.api.{version} import {module}_types as {spoke_module}"],
    )
    for user in (f"{source}/controllers/{module}.py", f"{source}/webhooks/{module}.py"):
        path = root / user
        if path.is_file() and old_import in path.read_text():
            text = path.read_text().replace(old_import, new_import)
            planned.append(PlannedFile(PurePosixPath(user), text, Mode.REPLACE))
    values = {"package": package, "version": version, "hub": hub, "kind": kind, "module": module}
    planned += [
        PlannedFile(
            PurePosixPath(f"{source}/api/{version}/{module}_conversion.py"),
            render("webhook/conversion.py.tmpl", **values),
        ),
        PlannedFile(spoke_types, spoke_source, Mode.REPLACE),
        PlannedFile(app_path, app_source, Mode.REPLACE),
    ]
    for file in webhook_deployment_files(root, package):
        if file.path == CERT_MANAGER_KUSTOMIZATION:
            # cert-manager's CA injector fills in the CRD's conversion caBundle too.
            on_disk = root / file.path
            text = on_disk.read_text() if on_disk.is_file() else file.content
            if CRD_PATCHES_COMPONENT not in text.splitlines():
                text = text.rstrip("\n") + "\ncomponents:\n" + CRD_PATCHES_COMPONENT + "\n"
            file = PlannedFile(file.path, text, Mode.REPLACE)
        planned.append(file)
    return planned


CERT_MANAGER_KUSTOMIZATION = PurePosixPath("config/cert-manager/kustomization.yaml")
CRD_PATCHES_COMPONENT = "- ../crd/patches"


def insert_after_imports(source: str, line: str) -> str:
    """``source`` with ``line`` after its last top-level import."""
    lines = source.splitlines()
    last = max(
        (i for i, text in enumerate(lines) if text.startswith(("import ", "from "))), default=-1
    )
    lines[last + 1 : last + 1] = ["", line]  # the project's own imports: a block of their own
    return "\n".join(lines) + "\n"


def webhook_deployment_files(root: Path, package: str) -> list[PlannedFile]:
    """What deploys the webhooks, so that ``kubectl apply -k config/default`` serves them
    with no edit by hand: ``config/default`` takes in ``config/webhook``, the manager's
    webhook port and Secret-kept certificate (the lines ``init`` left commented out at the
    ``+kubeweft:scaffold:webhook`` markers, and their patch), and ``config/cert-manager``
    is the variant with a certificate issued by cert-manager, as kubebuilder's. A
    ``config/default`` without the markers (changed by hand) is left alone:
    :func:`webhooks_deployed` tells."""
    values = {"name": package}
    files = [
        PlannedFile(PurePosixPath(path), render(f"webhook/{template}", **values), Mode.KEEP)
        for path, template in (
            ("config/default/manager_webhook_patch.yaml", "default_manager_patch.yaml.tmpl"),
            ("config/cert-manager/kustomization.yaml", "cert_manager_kustomization.yaml.tmpl"),
            ("config/cert-manager/issuer.yaml", "cert_manager_issuer.yaml.tmpl"),
            ("config/cert-manager/certificate.yaml", "cert_manager_certificate.yaml.tmpl"),
            (
                "config/cert-manager/manager_webhook_patch.yaml",
                "cert_manager_manager_patch.yaml.tmpl",
            ),
        )
    ]
    try:
        default = (root / DEFAULT_KUSTOMIZATION).read_text()
    except OSError:
        return files
    if WEBHOOK_MARKER in default:
        wired = uncomment_at_markers(default, WEBHOOK_MARKER)
        files.append(PlannedFile(DEFAULT_KUSTOMIZATION, wired, Mode.REPLACE))
    return files


def webhooks_deployed(root: Path) -> bool:
    """Whether ``config/default`` takes in ``config/webhook``."""
    try:
        default = (root / DEFAULT_KUSTOMIZATION).read_text()
    except OSError:
        return False
    return "- ../webhook" in default.splitlines()


def regenerate_manifests(root: Path, echo: Callable[[str], None]) -> None:
    """Run ``kubeweft manifests <package>.app:app`` in the project, as ``make manifests``
    does; a fresh interpreter imports the project's code as the user left it."""
    package, _ = project_settings(root)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, "-c", "from kubeweft.cli import main; main()"]
    run = subprocess.run(
        [*command, "manifests", f"{package}.app:app"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines() or [f"exit code {run.returncode}"]
        raise ScaffoldError(f"kubeweft manifests {package}.app:app failed: {lines[-1]}")
    for line in run.stdout.splitlines():
        echo(line)
