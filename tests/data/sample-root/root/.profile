# ~/.profile: executed by Bourne-compatible login shells.
