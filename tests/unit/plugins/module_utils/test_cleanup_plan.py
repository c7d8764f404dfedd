"""Unit tests of module_utils/_cleanup_plan.py: what a release cleanup removes and keeps, as tables of records,
keep counts, host images and containers."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils._cleanup_plan import (
    CleanupPlanError,
    familiar,
    images_after,
    plan_cleanup,
)

REPO = "registry.example.com/shop/web"


def release(n, repo=REPO, image_id=None, image=None):
    return {"version": "v%d" % n, "image": image or "%s:v%d" % (repo, n), "image_id": image_id or "sha256:%d" % n,
            "deployed_at": "2026-01-%02dT00:00:00Z" % n}


def record(versions, previous=None, current=None):
    """A record whose history holds releases ``versions`` (newest first)."""
    history = [release(n) for n in versions]
    return {"app": "shop", "current": current or history[0],
            "previous": history[1] if previous is None and len(history) > 1 else previous,
            "history": history, "last_rollout": []}


def image(n, tags=None, digests=None, image_id=None):
    return {"id": image_id or "sha256:%d" % n, "tags": ["%s:v%d" % (REPO, n)] if tags is None else tags,
            "digests": digests or []}


FIVE = record([5, 4, 3, 2, 1])
FIVE_IMAGES = [image(n) for n in (1, 2, 3, 4, 5)]


def removed_versions(plan):
    return sorted(item["version"] for item in plan["remove"])


def kept_versions(plan):
    return sorted(item["version"] for item in plan["keep"])


def history_versions(plan):
    return [entry["version"] for entry in plan["record"]["history"]]


@pytest.mark.parametrize("keep, kept, removed", [
    (1, ["v4", "v5"], ["v1", "v2", "v3"]),  # current and previous in any case
    (2, ["v4", "v5"], ["v1", "v2", "v3"]),
    (3, ["v3", "v4", "v5"], ["v1", "v2"]),
    (4, ["v2", "v3", "v4", "v5"], ["v1"]),
    (5, ["v1", "v2", "v3", "v4", "v5"], []),
    (9, ["v1", "v2", "v3", "v4", "v5"], []),
])
def test_keep_counts(keep, kept, removed):
    plan = plan_cleanup(FIVE, keep, FIVE_IMAGES)
    assert kept_versions(plan) == kept
    assert removed_versions(plan) == removed
    assert all(item["action"] == "delete" for item in plan["remove"])
    assert history_versions(plan) == sorted(kept, reverse=True)
    assert plan["record_pruned"] is bool(removed)
    assert plan["record"]["current"] == FIVE["current"] and plan["record"]["previous"] == FIVE["previous"]


@pytest.mark.parametrize("keep, previous, kept, history", [
    (1, 2, ["v2", "v5"], ["v5", "v2"]),
    (2, 2, ["v2", "v4", "v5"], ["v5", "v4", "v2"]),
    (2, 1, ["v1", "v4", "v5"], ["v5", "v4", "v1"]),
    (3, 1, ["v1", "v3", "v4", "v5"], ["v5", "v4", "v3", "v1"]),
])
def test_previous_older_than_the_kept_window_is_kept(keep, previous, kept, history):
    rec = record([5, 4, 3, 2, 1], previous=release(previous))
    plan = plan_cleanup(rec, keep, FIVE_IMAGES)
    assert kept_versions(plan) == kept
    assert history_versions(plan) == history
    reasons = dict((item["version"], item["reason"]) for item in plan["keep"])
    assert "previous release" in reasons["v%d" % previous]
    assert "current release" in reasons["v5"]


@pytest.mark.parametrize("running", [True, False])
def test_an_image_any_container_uses_is_kept(running):
    # The engine lists every container, running or not: the planner gets them all alike.
    name = "shop-old-%s" % ("running" if running else "stopped")
    plan = plan_cleanup(FIVE, 1, FIVE_IMAGES, {"sha256:2": [name]})
    assert kept_versions(plan) == ["v2", "v4", "v5"]
    assert removed_versions(plan) == ["v1", "v3"]
    v2 = next(item for item in plan["keep"] if item["version"] == "v2")
    assert v2["reason"] == "used by container %s" % name
    # The release leaves the record even though its image stays for the container.
    assert history_versions(plan) == ["v5", "v4"]


def test_an_image_shared_by_a_kept_and_an_older_release_is_kept_with_all_its_tags():
    rec = record([5, 4, 3, 2, 1])
    rec["history"][3] = release(2, image_id="sha256:4")  # v2 and v4 are the same build
    images = [image(1), image(3), image(5), image(4, tags=["%s:v2" % REPO, "%s:v4" % REPO])]
    plan = plan_cleanup(rec, 2, images)
    assert removed_versions(plan) == ["v1", "v3"]
    shared = next(item for item in plan["keep"] if item["id"] == "sha256:4")
    assert shared["version"] == "v4" and shared["tags"] == ["%s:v2" % REPO, "%s:v4" % REPO]
    assert history_versions(plan) == ["v5", "v4"]


def test_an_old_tag_on_the_build_of_a_kept_release_keeps_it():
    # v1 was recorded with another ID, and its tag now points at v5's build.
    images = [image(5, tags=["%s:v1" % REPO, "%s:v5" % REPO]), image(4), image(3)]
    plan = plan_cleanup(FIVE, 2, images)
    assert removed_versions(plan) == ["v3"]
    assert sorted(item["id"] for item in plan["keep"]) == ["sha256:4", "sha256:5"]


def test_digest_only_references_match_untagged_images():
    digests = dict((n, "sha256:" + ("%d" % n) * 64) for n in (1, 2, 3))
    history = [release(n, image="%s@%s" % (REPO, digests[n])) for n in (3, 2, 1)]
    rec = {"current": history[0], "previous": history[1], "history": history}
    # Pulled by digest, never tagged: the engine lists no tag, only the digest; the IDs differ from the record's.
    images = [{"id": "sha256:pulled%d" % n, "tags": ["<none>:<none>"], "digests": ["%s@%s" % (REPO, digests[n])]}
              for n in (1, 2, 3)]
    plan = plan_cleanup(rec, 1, images)
    assert plan["remove"] == [{"id": "sha256:pulled1", "tags": ["%s@%s" % (REPO, digests[1])], "version": "v1",
                               "action": "delete"}]
    assert kept_versions(plan) == ["v2", "v3"]


def test_an_image_also_tagged_for_another_repository_is_only_untagged():
    images = [image(1, tags=["%s:v1" % REPO, "other/tool:stable"]), image(2), image(3)]
    plan = plan_cleanup(record([3, 2, 1]), 1, images)
    assert plan["remove"] == [{"id": "sha256:1", "tags": ["%s:v1" % REPO], "version": "v1", "action": "untag"}]
    after = images_after(images, plan["remove"])
    assert [(i["id"], i["tags"]) for i in after] == [("sha256:1", ["other/tool:stable"]),
                                                     ("sha256:2", ["%s:v2" % REPO]), ("sha256:3", ["%s:v3" % REPO])]


def test_an_old_release_image_tagged_only_for_another_repository_stays():
    images = [image(1, tags=["other/tool:stable"]), image(2), image(3)]
    plan = plan_cleanup(record([3, 2, 1]), 1, images)
    assert plan["remove"] == []
    assert next(i for i in plan["keep"] if i["id"] == "sha256:1")["reason"] == \
        "carries only references of other repositories"


def test_unrelated_images_are_never_considered():
    images = FIVE_IMAGES + [image(9, tags=["registry.example.com/shop/worker:v1"]), image(8, tags=["busybox:latest"]),
                            image(7, tags=[])]
    plan = plan_cleanup(FIVE, 1, images)
    ids = set(i["id"] for i in plan["remove"] + plan["keep"])
    assert not ids & {"sha256:9", "sha256:8", "sha256:7"}


def test_images_of_the_repository_the_record_does_not_name_are_removed():
    # A release older than the record's history, then a dangling image of an old release the record names.
    plan = plan_cleanup(FIVE, 3, FIVE_IMAGES + [image(0, tags=["%s:v0" % REPO])])
    removed = [(i["id"], i["version"]) for i in plan["remove"]]
    assert removed == [("sha256:1", "v1"), ("sha256:2", "v2"), ("sha256:0", None)]
    dangling = plan_cleanup(FIVE, 3, [image(1, tags=[]), image(5)])
    assert dangling["remove"] == [{"id": "sha256:1", "tags": [], "version": "v1", "action": "delete"}]


def test_docker_hub_names_compare_in_the_engine_s_short_form():
    history = [release(n, repo="docker.io/library/nginx") for n in (2, 1)]
    rec = {"current": history[0], "previous": history[1], "history": history}
    images = [image(n, tags=["nginx:v%d" % n], image_id="sha256:x%d" % n) for n in (1, 2, 3)]
    plan = plan_cleanup(rec, 1, images)
    assert [i["id"] for i in plan["remove"]] == ["sha256:x3"]
    assert familiar("docker.io/library/nginx") == "nginx" and familiar("docker.io/acme/app") == "acme/app"
    assert familiar("docker.io/library/a/b") == "library/a/b" and familiar(REPO) == REPO


def test_repeated_releases_count_once():
    rec = record([5, 4, 3, 2, 1])
    rec["history"].insert(1, release(3))  # a revert to v3, then v5 again
    rec["history"].insert(1, release(4))
    plan = plan_cleanup(rec, 3, FIVE_IMAGES)
    assert kept_versions(plan) == ["v3", "v4", "v5"]
    assert history_versions(plan) == ["v5", "v4", "v3", "v4", "v3"]


def test_a_planned_record_plans_nothing_more():
    plan = plan_cleanup(FIVE, 2, FIVE_IMAGES, {"sha256:1": ["old"]})
    again = plan_cleanup(plan["record"], 2, images_after(FIVE_IMAGES, plan["remove"]), {"sha256:1": ["old"]})
    assert again["remove"] == [] and again["record_pruned"] is False


def test_a_record_without_history_keeps_current_and_previous():
    rec = {"current": release(2), "previous": release(1)}
    plan = plan_cleanup(rec, 1, [image(1), image(2), image(0)])
    assert kept_versions(plan) == ["v1", "v2"] and removed_versions(plan) == [None]
    assert plan["record_pruned"] is False


@pytest.mark.parametrize("rec, message", [
    ([], "the record is not an object"),
    ({"history": "v1"}, "history is not a list"),
    ({"history": [release(1), "v0"]}, "history[1] is not an object"),
    ({"history": [{"version": "v1", "image": "Shop:v1", "image_id": "sha256:1"}]}, "history[0].image 'Shop:v1'"),
    ({"history": [{"version": "v1"}]}, "history[0] names neither an image nor an image ID"),
    ({"current": {"version": 1, "image_id": "sha256:1"}}, "current.version is not a string"),
    ({"previous": ["x"]}, "previous is not an object"),
])
def test_malformed_records_are_refused_naming_the_entry(rec, message):
    with pytest.raises(CleanupPlanError) as info:
        plan_cleanup(rec, 1, [])
    assert message in str(info.value)


def test_keep_releases_below_one_is_refused():
    with pytest.raises(CleanupPlanError, match="keep_releases"):
        plan_cleanup(FIVE, 0, FIVE_IMAGES)
