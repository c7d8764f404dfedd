#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: data_volume
short_description: Keep a stack's data volume, a data container or a named Docker volume, created once and never emptied
version_added: 0.1.0
description:
  - Makes sure a data volume of a stack exists. It is created once and never recreated, emptied or changed afterwards,
    so the files in it survive every deploy.
  - With O(volumes), the data volume is a B(data container) called O(name), created from O(image) and never started,
    with an anonymous volume at each container path. Other containers mount those volumes with C(volumes_from).
  - Without O(volumes) (or with an empty list), it is a B(named volume) called O(name), made with O(driver) and
    O(driver_opts).
  - When the data container or volume exists already, nothing is changed. If its container paths (or the driver and
    options of a named volume) differ from the task, the module warns, returns what differs in RV(drift) and still
    reports C(changed=false); remove it by hand (O(state=absent)) if it really must be made again.
  - A container called O(name) that is not a data container makes the module fail before anything changes. A data
    container carries the label C(baton.kind=data); a container without that label is accepted as one only when it
    is not running and has volumes, as one made by hand with C(docker run --name NAME -v PATH IMAGE).
  - The labels C(baton.managed=true) and C(baton.kind=data) are added to O(labels).
  - With O(data_volumes), one task keeps every data volume of a stack, in order, in one module execution; O(image),
    O(labels), O(state) and O(remove_volumes) then apply to every entry.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
attributes:
  check_mode:
    description: Reads the engine and reports what would be created or removed; creates, pulls and removes nothing.
  diff_mode:
    description: Returns the configuration before and after; C(before) is empty when the data volume is created.
  platform:
    description: Runs on the host whose Docker engine keeps the data volume.
options:
  name:
    description:
      - Name of the data container, or of the named volume.
      - Required unless O(data_volumes) is given; the two are mutually exclusive.
    type: str
  data_volumes:
    description:
      - Several data volumes, kept in this order. Each entry takes the options of a single one (O(name), O(volumes),
        O(image), O(labels) on top of the task's O(labels), O(driver), O(driver_opts)), and optionally O(data_volumes[].kind).
      - Nothing is created when an entry is wrong (an error names it by its index and name), and the first entry that
        fails stops the task; RV(results) then holds the entries done before it.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the data container or named volume.
        type: str
        required: true
      volumes:
        description: Absolute container paths of a data container; empty or left out for a named volume.
        type: list
        elements: str
      image:
        description: Image of this data container, instead of the task's O(image).
        type: str
      labels:
        description: Labels of this entry, added to the task's O(labels).
        type: dict
      driver:
        description: Volume driver of a new named volume.
        type: str
      driver_opts:
        description: Driver options of a new named volume.
        type: dict
      kind:
        description: What the entry is, checked against O(data_volumes[].volumes) before anything changes.
        type: str
        choices: [container, volume]
  volumes:
    description:
      - Absolute container paths, for example V(/var/run) and V(/var/lib/haproxy/socks). Each gets an anonymous
        volume in the data container.
      - When set and not empty, the data volume is a data container; otherwise it is a named volume.
      - Paths are normalised (V(/var/run/) is V(/var/run)); a relative path, a path listed twice or a C(host:container)
        bind is an error.
      - With O(state=absent), give the same list (any non-empty list does) to remove the data container; without it
        the named volume O(name) is removed.
    type: list
    elements: str
  image:
    description:
      - Image the data container is created from. It is pulled when it is not present.
      - Required when O(volumes) is given and O(state=present). Not used for a named volume.
      - With O(data_volumes), the image of the entries that do not set their own.
    type: str
  labels:
    description: Labels of a new data container or named volume. C(baton.managed=true) and C(baton.kind=data) are
      always added.
    type: dict
    default: {}
  driver:
    description: Volume driver of a new named volume. The engine uses V(local) when it is not set.
    type: str
  driver_opts:
    description: Driver options of a new named volume, for example C(type), C(device) and C(o) of the V(local) driver.
    type: dict
  state:
    description:
      - V(present) creates the data volume when it does not exist.
      - V(absent) removes it. It fails when other containers still mount its volumes.
    type: str
    choices: [present, absent]
    default: present
  remove_volumes:
    description:
      - With O(state=absent) on a data container, also remove its anonymous volumes and the files in them.
      - By default they are kept (dangling, listed by C(docker volume ls -f dangling=true)); RV(mounts) names their
        host paths.
      - A named volume removed with O(state=absent) is always deleted with its files.
    type: bool
    default: false
notes:
  - The data container's command is C(true); it is never started.
seealso:
  - name: Docker volumes
    description: Anonymous and named volumes, and C(--volumes-from).
    link: https://docs.docker.com/engine/storage/volumes/
"""

EXAMPLES = r"""
- name: Keep the socket volumes HAProxy and the application replicas share
  baton.docker.data_volume:
    name: socks
    volumes:
      - /var/run
      - /var/lib/haproxy/socks
    image: busybox:latest
    labels:
      baton.stack: shop

- name: Keep a named volume for uploads
  baton.docker.data_volume:
    name: uploads
    labels:
      baton.stack: shop

- name: Keep a named volume on an NFS export
  baton.docker.data_volume:
    name: shared
    driver: local
    driver_opts:
      type: nfs
      o: addr=192.0.2.5,rw
      device: ":/exports/shared"

- name: Keep every data volume of a stack in one task
  baton.docker.data_volume:
    data_volumes:
      - name: socks
        volumes: [/var/run, /var/lib/haproxy/socks]
      - name: uploads
        kind: volume
    image: busybox:latest
    labels:
      baton.stack: shop
  register: stack_volumes

- name: Remove the data container, keeping its volumes
  baton.docker.data_volume:
    name: socks
    volumes: [/var/run, /var/lib/haproxy/socks]
    state: absent
"""

RETURN = r"""
results:
  description:
    - With O(data_volumes), one result per entry done, in order, each with the keys below (and C(changed)).
  returned: when O(data_volumes) is given
  type: list
  elements: dict
  sample: [{"name": "socks", "kind": "container", "created": false, "changed": false, "msg": "data container socks exists"}]
name:
  description: Name of the data container or named volume.
  returned: when O(name) is given
  type: str
  sample: socks
kind:
  description: V(container) for a data container, V(volume) for a named volume.
  returned: when O(name) is given
  type: str
  sample: container
id:
  description: ID of the data container, or name of the named volume (the removed one with O(state=absent)). V(null)
    when there is none (nothing to remove, or only to be created in check mode).
  returned: when O(name) is given
  type: str
  sample: 3f4e9a1c2b7d5e60718293a4b5c6d7e8f90123456789abcdef0123456789abcd
created:
  description: Whether the data volume was (or, in check mode, would be) created by this task.
  returned: when O(name) is given
  type: bool
  sample: true
mounts:
  description:
    - For a data container, its container paths and the host paths of their volumes. Empty for a named volume and
      for a data container only to be created in check mode.
    - After O(state=absent) with O(remove_volumes=false), the host paths of the volumes that were kept.
  returned: when O(name) is given
  type: dict
  sample: {"/var/run": "/var/lib/docker/volumes/9c1d.../_data", "/var/lib/haproxy/socks": "/var/lib/docker/volumes/77ab.../_data"}
mountpoint:
  description: For a named volume, its host path (C(Mountpoint)). V(null) for a data container.
  returned: when O(name) is given
  type: str
  sample: /var/lib/docker/volumes/uploads/_data
drift:
  description:
    - What differs between the existing data volume and the task; empty when nothing does. The data volume is not
      changed because of it.
    - C(missing) lists the paths of O(volumes) the data container does not have, C(extra) the paths it has that
      O(volumes) does not list. For a named volume, C(driver) and C(driver_opts) hold the existing values when they
      differ from O(driver) and O(driver_opts).
  returned: when O(name) is given
  type: dict
  sample: {"missing": ["/var/static"], "extra": ["/var/run"]}
msg:
  description: What was done.
  returned: always
  type: str
  sample: created data container socks
"""

from ansible_collections.baton.docker.plugins.module_utils._containers import get_container
from ansible_collections.baton.docker.plugins.module_utils._data_volumes import (
    containers_using_volumes,
    create_data_container,
    create_named_volume,
    data_container_mounts,
    data_labels,
    data_path_drift,
    get_volume,
    normalize_data_paths,
    not_a_data_container,
    remove_data_container,
    remove_named_volume,
    volume_option_drift,
)
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient, DockerClientError
from ansible_collections.baton.docker.plugins.module_utils._images import ensure_image
from ansible_collections.baton.docker.plugins.module_utils._module import CONTAINER_NAME, ModuleRunner, run_module


class DataVolume:
    """One data container or named volume, compared with the task and changed only when it must be."""

    def __init__(self, module, client, params, paths):
        self.module = module
        self.params = params
        self.client = client
        self.name = params["name"]
        self.paths = paths
        self.kind = "container" if paths else "volume"
        self.labels = data_labels(params["labels"])
        self.result = dict(changed=False, name=self.name, kind=self.kind, id=None, created=False, mounts={},
                           mountpoint=None, drift={})
        self.before = {}
        self.after = {}

    # -- configurations shown in the diff
    def wanted_config(self):
        if self.kind == "container":
            return dict(name=self.name, kind="container", image=self.params["image"], volumes=list(self.paths),
                        labels=self.labels)
        return dict(name=self.name, kind="volume", driver=self.params["driver"] or "local",
                    driver_opts=dict(self.params["driver_opts"] or {}), labels=self.labels)

    def container_config(self, attrs):
        config = attrs.get("Config") or {}
        return dict(name=self.name, kind="container", image=config.get("Image"),
                    volumes=sorted(data_container_mounts(attrs)), labels=config.get("Labels") or {})

    def volume_config(self, attrs):
        return dict(name=self.name, kind="volume", driver=attrs.get("Driver"), driver_opts=attrs.get("Options") or {},
                    labels=attrs.get("Labels") or {})

    def existing(self, label, config, drift, differs, left):
        """A data container or volume that exists: kept as it is, with a warning when it differs from the task."""
        self.before = self.after = config
        self.result["drift"] = drift
        if drift:
            self.module.warn("%s %s %s (%s); it is not recreated, so its data is kept"
                             % (label, self.name, differs, describe_drift(drift)))
            self.result["msg"] = "%s %s exists with %s; left as it is" % (label, self.name, left)
        else:
            self.result["msg"] = "%s %s exists" % (label, self.name)

    def would_create(self, label):
        """Reports the creation; True in check mode, where nothing more happens."""
        self.after = self.wanted_config()
        self.result.update(changed=True, created=True, msg="would create %s %s" % (label, self.name))
        return self.module.check_mode

    # -- data containers
    def existing_container(self):
        attrs = get_container(self.client, self.name)
        if attrs is not None:
            reason = not_a_data_container(attrs)
            if reason:
                raise DockerClientError("name: a container called %s exists and is not a data container (%s); "
                                        "choose another name or remove that container" % (self.name, reason))
        return attrs

    def container_present(self):
        attrs = self.existing_container()
        if attrs is not None:
            mounts = data_container_mounts(attrs)
            self.result.update(id=attrs["Id"], mounts=mounts)
            self.existing("data container", self.container_config(attrs), data_path_drift(self.paths, mounts),
                          "has other volumes than the task lists", "other volumes")
            return
        if self.would_create("data container"):
            return
        ensure_image(self.client, self.params["image"])
        attrs = create_data_container(self.client, self.name, self.params["image"], self.paths, self.labels)
        self.after = self.container_config(attrs)
        self.result.update(id=attrs["Id"], mounts=data_container_mounts(attrs),
                           msg="created data container %s" % self.name)

    def container_absent(self):
        attrs = self.existing_container()
        if attrs is None:
            self.result["msg"] = "data container %s does not exist" % self.name
            return
        self.before = self.container_config(attrs)
        volumes = [m["Name"] for m in attrs.get("Mounts") or [] if m.get("Type") == "volume" and m.get("Name")]
        users = containers_using_volumes(self.client, volumes, exclude=attrs["Id"])
        if users:
            raise DockerClientError("cannot remove data container %s: its volumes are mounted by %s; remove those "
                                    "containers first" % (self.name, ", ".join(users)))
        mounts = data_container_mounts(attrs)
        keep = not self.params["remove_volumes"]
        self.result.update(changed=True, id=attrs["Id"], mounts=mounts if keep else {})
        verb = "would remove" if self.module.check_mode else "removed"
        self.result["msg"] = "%s data container %s%s" % (
            verb, self.name, ", keeping its volumes" if keep else " and its volumes")
        if not self.module.check_mode:
            remove_data_container(self.client, attrs["Id"], remove_volumes=not keep)

    # -- named volumes
    def volume_present(self):
        attrs = get_volume(self.client, self.name)
        if attrs is not None:
            self.result.update(id=attrs.get("Name"), mountpoint=attrs.get("Mountpoint"))
            self.existing("volume", self.volume_config(attrs),
                          volume_option_drift(attrs, self.params["driver"], self.params["driver_opts"]),
                          "was made with another driver or options", "other options")
            return
        if self.would_create("volume"):
            return
        attrs = create_named_volume(self.client, self.name, self.params["driver"], self.params["driver_opts"],
                                    self.labels)
        self.after = self.volume_config(attrs)
        self.result.update(id=attrs.get("Name"), mountpoint=attrs.get("Mountpoint"),
                           msg="created volume %s" % self.name)

    def volume_absent(self):
        attrs = get_volume(self.client, self.name)
        if attrs is None:
            self.result["msg"] = "volume %s does not exist" % self.name
            return
        self.before = self.volume_config(attrs)
        users = containers_using_volumes(self.client, [self.name])
        if users:
            raise DockerClientError("cannot remove volume %s: it is in use by %s; remove those containers first"
                                    % (self.name, ", ".join(users)))
        self.result.update(changed=True, id=self.name, msg="%s volume %s" % (
            "would remove" if self.module.check_mode else "removed", self.name))
        if not self.module.check_mode:
            remove_named_volume(self.client, self.name)

    def run(self):
        present = self.params["state"] == "present"
        if self.kind == "container" and present:
            self.container_present()
        elif self.kind == "container":
            self.container_absent()
        elif present:
            self.volume_present()
        else:
            self.volume_absent()
        if self.module._diff:
            self.result["diff"] = dict(before=self.before, after=self.after if present else {})
        return self.result


def describe_drift(drift):
    parts = []
    for key in ("missing", "extra"):
        if drift.get(key):
            parts.append("%s: %s" % (key, ", ".join(drift[key])))
    for key in ("driver", "driver_opts"):
        if key in drift:
            parts.append("existing %s: %s" % (key, drift[key]))
    return "; ".join(parts)


ENTRY_KEYS = ("name", "volumes", "image", "labels", "driver", "driver_opts")


def entry_params(params, index, entry):
    """The options of one entry of ``data_volumes``: its own keys, the task's image when it has none and its labels
    on top of the task's. Raises DockerClientError naming the entry when it is wrong."""
    where = "data_volumes[%d] (%s)" % (index, entry["name"])
    if not entry["name"]:
        raise DockerClientError("data_volumes[%d].name: must not be empty" % index)
    if entry["volumes"] and (entry["driver"] or entry["driver_opts"]):
        raise DockerClientError("%s: volumes make a data container; driver and driver_opts are for a named volume"
                                % where)
    merged = dict(params, **dict((key, entry[key]) for key in ENTRY_KEYS))
    merged["image"] = entry["image"] or params["image"]
    merged["labels"] = dict(params["labels"] or {}, **(entry["labels"] or {}))
    try:
        paths = normalize_data_paths(entry["volumes"])
    except DockerClientError as exc:
        raise DockerClientError("%s.%s" % (where, exc))
    if entry["kind"] and (entry["kind"] == "container") != bool(paths):
        raise DockerClientError("%s.kind: %s, but volumes %s" % (
            where, entry["kind"], "lists container paths" if paths else "is empty (a named volume)"))
    check_image(merged, paths, where + ".")
    return merged, paths


def check_image(params, paths, where=""):
    if paths and params["state"] == "present" and not params["image"]:
        raise DockerClientError("%simage: required to create data container %s (volumes is set)"
                                % (where, params["name"]))


class DataVolumes(ModuleRunner):
    """The task: one data volume (name) or several in order (data_volumes), every entry checked before any change."""

    def __init__(self, module):
        super().__init__(module)
        self.result = dict(changed=False) if self.params["name"] is None else dict(changed=False, name=self.params["name"])

    def entries(self):
        for index, entry in enumerate(self.params["data_volumes"] or [self.params]):
            if entry["name"] and not CONTAINER_NAME.match(entry["name"]):
                where = "data_volumes[%d].name" % index if self.params["data_volumes"] else "name"
                raise DockerClientError("%s: %r is not a valid container or volume name" % (where, entry["name"]))
        if self.params["data_volumes"] is None:
            paths = normalize_data_paths(self.params["volumes"])
            check_image(self.params, paths)
            return [(self.params, paths)]
        entries = [entry_params(self.params, index, entry) for index, entry in enumerate(self.params["data_volumes"])]
        names = [params["name"] for params, _paths in entries]
        for name in names:
            if names.count(name) > 1:
                raise DockerClientError("data_volumes: %s is listed more than once" % name)
        return entries

    def run(self):
        entries = self.entries()
        client = DockerClient.from_params(self.params).connect()
        try:
            if self.params["data_volumes"] is None:
                params, paths = entries[0]
                self.result = DataVolume(self.module, client, params, paths).run()
                return self.result
            self.result = dict(changed=False, results=[], msg="")
            before, after = [], []
            for index, (params, paths) in enumerate(entries):
                try:
                    done = DataVolume(self.module, client, params, paths).run()
                except DockerClientError as exc:
                    raise DockerClientError("data_volumes[%d] (%s): %s" % (index, params["name"], exc))
                diff = done.pop("diff", None)
                if diff:
                    before.append(diff["before"])
                    after.append(diff["after"])
                self.result["results"].append(done)
                self.result["changed"] = self.result["changed"] or done["changed"]
            self.result["msg"] = "; ".join(r["msg"] for r in self.result["results"]) or "no data volume listed"
            if self.module._diff:
                self.result["diff"] = dict(before=before, after=after)
            return self.result
        finally:
            client.close()


def argument_spec():
    entry = dict(
        name=dict(type="str", required=True),
        volumes=dict(type="list", elements="str"),
        image=dict(type="str"),
        labels=dict(type="dict"),
        driver=dict(type="str"),
        driver_opts=dict(type="dict"),
        kind=dict(type="str", choices=["container", "volume"]),
    )
    return dict(
        name=dict(type="str"),
        data_volumes=dict(type="list", elements="dict", options=entry),
        volumes=dict(type="list", elements="str"),
        image=dict(type="str"),
        labels=dict(type="dict", default={}),
        driver=dict(type="str"),
        driver_opts=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        remove_volumes=dict(type="bool", default=False),
    )


def main():
    run_module(argument_spec(), DataVolumes, connection="docker",
               mutually_exclusive=[["volumes", "driver"], ["volumes", "driver_opts"], ["name", "data_volumes"],
                                   ["data_volumes", "volumes"], ["data_volumes", "driver"],
                                   ["data_volumes", "driver_opts"]],
               required_one_of=[["name", "data_volumes"]])


if __name__ == "__main__":
    main()
