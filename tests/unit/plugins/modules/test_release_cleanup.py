"""Unit tests of baton.docker.release_cleanup: main() driven with module args over a scripted low-level client, for
what the real engine does not do on demand (refusing a removal, answering malformed lists). The real engine runs in
tests/integration/test_release_cleanup.py."""

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.modules import release_cleanup
from tests.support.module_harness import call_main, engine_factory

REPO = "registry.example.com/shop/web"


class FakeAPI:
    """Images {id: tags}, containers [(name, image id)]; removal of an ID in ``refuse`` answers 409."""

    def __init__(self, images, containers=(), refuse=(), images_answer=None):
        self.images_by_id = dict((image_id, list(tags)) for image_id, tags in images.items())
        self.container_rows = [{"Id": name * 8, "Names": ["/" + name], "ImageID": image_id}
                               for name, image_id in containers]
        self.refuse = set(refuse)
        self.images_answer = images_answer
        self.removed = []

    def images(self):
        if self.images_answer is not None:
            return self.images_answer
        return [{"Id": image_id, "RepoTags": tags, "RepoDigests": []} for image_id, tags in self.images_by_id.items()]

    def containers(self, all=False):
        assert all, "containers of every state must be listed"
        return self.container_rows

    def remove_image(self, ref, force=False, noprune=False):
        assert force is False
        repositories = set(tag.rsplit(":", 1)[0] for tag in self.images_by_id.get(ref, []))
        if ref in self.refuse or len(repositories) > 1:  # as the engine refuses an image of several repositories
            response = type("Response", (), {"status_code": 409, "reason": "Conflict", "url": ref})()
            raise _docker_client.docker_errors.APIError(
                "409", response=response, explanation="conflict: unable to delete %s (cannot be forced)" % ref)
        if ref not in self.images_by_id and not any(ref in tags for tags in self.images_by_id.values()):
            raise _docker_client.docker_errors.NotFound("no such image: %s" % ref)
        if ref in self.images_by_id:
            del self.images_by_id[ref]
        else:
            for image_id, tags in list(self.images_by_id.items()):
                if ref in tags:
                    tags.remove(ref)
                    if not tags:  # the last reference takes the image with it
                        del self.images_by_id[image_id]
        self.removed.append(ref)


class FakeClient(_docker_client.DockerClient):
    def __init__(self, api):
        super().__init__(api=api)

    def close(self):
        pass


def state(tmp_path, versions=(5, 4, 3, 2, 1)):
    history = [{"version": "v%d" % n, "image": "%s:v%d" % (REPO, n), "image_id": "sha256:%d" % n} for n in versions]
    record = {"app": "shop", "current": history[0], "previous": history[1], "history": history}
    (tmp_path / "shop.json").write_text(json.dumps(record))
    return str(tmp_path)


def five_images():
    return dict(("sha256:%d" % n, ["%s:v%d" % (REPO, n)]) for n in (1, 2, 3, 4, 5))


def run_main(monkeypatch, api, **args):
    monkeypatch.setattr(release_cleanup, "DockerClient", engine_factory(lambda params: FakeClient(api)))
    return call_main(release_cleanup.main, dict(dict(app="shop"), **args))


def test_an_image_the_engine_refuses_to_remove_is_kept_with_a_warning(tmp_path, monkeypatch):
    api = FakeAPI(five_images(), refuse={"sha256:1"})
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, message: warnings.append(message))
    outcome = run_main(monkeypatch, api, state_dir=state(tmp_path), keep_releases=2)
    assert outcome.kind == "exit", outcome.result
    result = outcome.result
    assert [item["version"] for item in result["removed"]] == ["v2", "v3"]
    refused = next(item for item in result["kept"] if item["id"] == "sha256:1")
    assert "the engine refused its removal" in refused["reason"] and "cannot be forced" in refused["reason"]
    assert warnings and "sha256:1" in warnings[0]
    assert result["changed"] is True and result["history"] == ["v5", "v4"]
    # The record is pruned all the same; the image, still of the app's repository, is tried again next time.
    again = run_main(monkeypatch, api, state_dir=str(tmp_path), keep_releases=2)
    assert again.result["changed"] is False and again.result["removed"] == []
    assert api.removed == ["sha256:2", "sha256:3"]


def test_check_mode_removes_and_writes_nothing(tmp_path, monkeypatch):
    api = FakeAPI(five_images(), containers=[("old", "sha256:3")])
    path = state(tmp_path)
    before = (tmp_path / "shop.json").read_text()
    outcome = run_main(monkeypatch, api, state_dir=path, keep_releases=1, _ansible_check_mode=True,
                       _ansible_diff=True)
    result = outcome.result
    assert outcome.kind == "exit" and result["changed"] is True
    assert sorted(item["version"] for item in result["removed"]) == ["v1", "v2"]
    assert "would remove 2 images of shop" in result["msg"]
    assert api.removed == [] and (tmp_path / "shop.json").read_text() == before
    assert not (tmp_path / "shop.lock").exists()
    assert result["diff"]["after"]["history"] == ["v5", "v4"]


def test_a_malformed_image_list_is_a_clean_failure(tmp_path, monkeypatch):
    api = FakeAPI({}, images_answer=[{"RepoTags": ["x:y"]}])
    outcome = run_main(monkeypatch, api, state_dir=state(tmp_path))
    assert outcome.kind == "fail" and "image list: an entry has no Id" in outcome.result["msg"]


@pytest.mark.parametrize("record, fragment", [
    ({"history": [{"version": "v1", "image": "Shop:v1", "image_id": "sha256:1"}]}, "history[0].image"),
    ({"history": {"v1": 1}}, "history is not a list"),
])
def test_a_record_that_cannot_be_planned_from_names_the_file(tmp_path, monkeypatch, record, fragment):
    (tmp_path / "shop.json").write_text(json.dumps(record))
    outcome = run_main(monkeypatch, FakeAPI({}), state_dir=str(tmp_path))
    assert outcome.kind == "fail"
    assert str(tmp_path / "shop.json") in outcome.result["msg"] and fragment in outcome.result["msg"]


def test_an_image_of_two_of_the_app_s_repositories_loses_its_references_one_by_one(tmp_path, monkeypatch):
    moved = "registry2.example.com/shop/web"
    history = [{"version": "v%d" % n, "image": "%s:v%d" % (moved if n > 1 else REPO, n), "image_id": "sha256:%d" % n}
               for n in (3, 2, 1)]
    (tmp_path / "shop.json").write_text(json.dumps({"current": history[0], "previous": history[1],
                                                    "history": history}))
    api = FakeAPI({"sha256:1": ["%s:v1" % REPO, "%s:v1" % moved], "sha256:2": ["%s:v2" % moved],
                   "sha256:3": ["%s:v3" % moved]})
    outcome = run_main(monkeypatch, api, state_dir=str(tmp_path), keep_releases=1)
    assert outcome.kind == "exit", outcome.result
    assert [(item["id"], item["action"]) for item in outcome.result["removed"]] == [("sha256:1", "delete")]
    assert "sha256:1" not in api.images_by_id
    assert api.removed == ["%s:v1" % REPO, "%s:v1" % moved]
