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
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.docker
attributes:
  check_mode:
    support: full
    description: Reads the engine and reports what would be created or removed; creates, pulls and removes nothing.
  diff_mode:
    support: full
    description: Returns the configuration before and after; C(before) is empty when the data volume is created.
  platform:
    platforms: posix
    support: full
    description: Runs on the host whose Docker engine keeps the data volume.
options:
  name:
    description: Name of the data container, or of the named volume.
    type: str
    required: true
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

- name: Remove the data container, keeping its volumes
  baton.docker.data_volume:
    name: socks
    volumes: [/var/run, /var/lib/haproxy/socks]
    state: absent
"""

RETURN = r"""
name:
  description: Name of the data container or named volume.
  returned: always
  type: str
  sample: socks
kind:
  description: V(container) for a data container, V(volume) for a named volume.
  returned: always
  type: str
  sample: container
id:
  description: ID of the data container, or name of the named volume (the removed one with O(state=absent)). V(null)
    when there is none (nothing to remove, or only to be created in check mode).
  returned: always
  type: str
  sample: 3f4e9a1c2b7d5e60718293a4b5c6d7e8f90123456789abcdef0123456789abcd
created:
  description: Whether the data volume was (or, in check mode, would be) created by this task.
  returned: always
  type: bool
  sample: true
mounts:
  description:
    - For a data container, its container paths and the host paths of their volumes. Empty for a named volume and
      for a data container only to be created in check mode.
    - After O(state=absent) with O(remove_volumes=false), the host paths of the volumes that were kept.
  returned: always
  type: dict
  sample: {"/var/run": "/var/lib/docker/volumes/9c1d.../_data", "/var/lib/haproxy/socks": "/var/lib/docker/volumes/77ab.../_data"}
mountpoint:
  description: For a named volume, its host path (C(Mountpoint)). V(null) for a data container.
  returned: always
  type: str
  sample: /var/lib/docker/volumes/uploads/_data
drift:
  description:
    - What differs between the existing data volume and the task; empty when nothing does. The data volume is not
      changed because of it.
    - C(missing) lists the paths of O(volumes) the data container does not have, C(extra) the paths it has that
      O(volumes) does not list. For a named volume, C(driver) and C(driver_opts) hold the existing values when they
      differ from O(driver) and O(driver_opts).
  returned: always
  type: dict
  sample: {"missing": ["/var/static"], "extra": ["/var/run"]}
msg:
  description: What was done.
  returned: always
  type: str
  sample: created data container socks
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baton.docker.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS, DockerClientError, connect, containers_using_volumes, create_data_container,
    create_named_volume, data_container_mounts, data_labels, data_path_drift, ensure_image, get_container,
    get_volume, normalize_data_paths, not_a_data_container, remove_data_container, remove_named_volume,
    require_docker, volume_option_drift,
)


class DataVolume(object):
    """One data container or named volume, compared with the task and changed only when it must be."""

    def __init__(self, module, client, paths):
        self.module = module
        self.params = module.params
        self.client = client
        self.name = self.params["name"]
        self.paths = paths
        self.kind = "container" if paths else "volume"
        self.labels = data_labels(self.params["labels"])
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
            drift = data_path_drift(self.paths, mounts)
            self.before = self.after = self.container_config(attrs)
            self.result.update(id=attrs["Id"], mounts=mounts, drift=drift)
            if drift:
                self.module.warn("data container %s has other volumes than the task lists (%s); it is not recreated, "
                                 "so its data is kept" % (self.name, describe_drift(drift)))
                self.result["msg"] = "data container %s exists with other volumes; left as it is" % self.name
            else:
                self.result["msg"] = "data container %s exists" % self.name
            return
        self.after = self.wanted_config()
        self.result.update(changed=True, created=True, msg="would create data container %s" % self.name)
        if self.module.check_mode:
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
            drift = volume_option_drift(attrs, self.params["driver"], self.params["driver_opts"])
            self.before = self.after = self.volume_config(attrs)
            self.result.update(id=attrs.get("Name"), mountpoint=attrs.get("Mountpoint"), drift=drift)
            if drift:
                self.module.warn("volume %s was made with another driver or options (%s); it is not recreated, "
                                 "so its data is kept" % (self.name, describe_drift(drift)))
                self.result["msg"] = "volume %s exists with other options; left as it is" % self.name
            else:
                self.result["msg"] = "volume %s exists" % self.name
            return
        self.after = self.wanted_config()
        self.result.update(changed=True, created=True, msg="would create volume %s" % self.name)
        if self.module.check_mode:
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


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        volumes=dict(type="list", elements="str"),
        image=dict(type="str"),
        labels=dict(type="dict", default={}),
        driver=dict(type="str"),
        driver_opts=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        remove_volumes=dict(type="bool", default=False),
    )
    argument_spec.update(DOCKER_COMMON_ARGS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["volumes", "driver"], ["volumes", "driver_opts"]],
        supports_check_mode=True,
    )
    params = module.params
    try:
        paths = normalize_data_paths(params["volumes"])
        if paths and params["state"] == "present" and not params["image"]:
            raise DockerClientError("image: required to create data container %s (volumes is set)" % params["name"])
        require_docker(module)
        client = connect(params["docker_host"], params["api_timeout"])
        try:
            result = DataVolume(module, client, paths).run()
        finally:
            client.close()
    except DockerClientError as exc:
        module.fail_json(msg=str(exc), name=params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
