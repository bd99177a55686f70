"""What every page's shell shows about the signed-in user: name, role, and which tools they may open."""

from customers.permissions import can_use_admin, can_use_graphiql, role_of


def shell(request):
    user = getattr(request, "user", None)
    role = role_of(user)
    if role is None:
        return {"shell": {"display_name": "", "role_label": "", "can_use_admin": False, "can_use_graphiql": False}}
    return {
        "shell": {
            "display_name": user.get_full_name() or user.get_username(),
            "role": role.value,
            "role_label": role.label,
            "can_use_admin": can_use_admin(user),
            "can_use_graphiql": can_use_graphiql(user),
        }
    }
