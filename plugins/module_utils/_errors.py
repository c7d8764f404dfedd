# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error type every baton.docker failure derives from: the shared module runner turns any of them into
``fail_json`` with the message, and with ``details`` (a dict of result keys) when the error carries them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class BatonError(Exception):
    """A failure this collection explains to the user: ``str(error)`` is the message; ``details`` are extra result
    keys reported beside it (never secret values)."""

    def __init__(self, message="", details=None):
        super(BatonError, self).__init__(message)
        self.details = dict(details or {})
